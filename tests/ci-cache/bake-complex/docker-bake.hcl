group "default" {
  targets = ["api", "worker", "matrix-svc", "cached"]
}

target "api" { context = "services/api" }

target "worker" {
  context = "services/worker"
  args = {
    MODE = "worker"
  }
  }

target "matrix-svc" {
  name = "svc-${item}"
  matrix = {
    item = ["a", "b"]
  }
  context = "services/${item}"
}

target "cached" {
  context    = "services/cached"
  cache-from = ["type=registry,ref=ghcr.io/acme/cached:cache"]
}

target "child" {
  inherits = ["cached"]
  target   = "debug"
}
