# Images of the platform; `docker buildx bake` builds them all.
variable "TAG" {
  default = "latest"
}

group "default" {
  targets = ["api", "web"]
}

target "_common" {
  args = {
    PYTHON_VERSION = "3.12"
  }
}

target "api" {
  inherits   = ["_common"]
  context    = "services/api"
  dockerfile = "Dockerfile"
  tags       = ["ghcr.io/acme/api:${TAG}"]
}

target "web" {
  context = "web"
  tags = ["ghcr.io/acme/web:${TAG}"] // the site
}
