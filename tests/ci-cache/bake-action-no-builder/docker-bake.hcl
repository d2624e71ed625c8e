target "default" {
  context = "."
  tags    = ["acme/app:latest"]
}
