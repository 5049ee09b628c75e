variable "services" {
  type    = map(object({ group = string }))
  default = {}
  validation {
    condition     = length(var.services) > 0
    error_message = "Name at least one migration service."
  }
}
