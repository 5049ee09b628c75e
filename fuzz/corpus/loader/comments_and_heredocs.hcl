# Settings for the whole configuration.
dmsform {
  required_version = ">= 0.1" # any 0.x release
  backend "local" {
    path = "state/dmsform.state.json"
  }
}

/* The share password comes from the environment:
   DMSFORM_VAR_share_password. */
variable "share_password" {
  type      = string
  sensitive = true
  default   = "not-a-real-password"
}

locals {
  // Where the driver archive lives.
  share = "\\\\fileserver\\drivers"
  note  = <<-EOT
    Uploaded by dmsform.
    Do not edit by hand.
  EOT
  services = {
    east = "rg-east" # primary
    west = "rg-west"
  }
}

resource "dms_oci_driver_upload" "driver" {
  for_each     = local.services
  group_name   = each.value
  service_name = "dms-${each.key}"
  task_name    = "uploadOCIDriver"
  client_data  = { note = trimspace(local.note) }

  driver_share {
    path      = local.share
    user_name = "CONTOSO\\dms"
    password  = var.share_password
  }
}

output "tasks" {
  value = { for k, t in dms_oci_driver_upload.driver : k => t.task_name }
}
