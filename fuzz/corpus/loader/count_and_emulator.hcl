provider "dms" {
  endpoint = "embedded"
  auth     = "none"
}

variable "service_names" {
  type    = list(string)
  default = ["dms-east", "dms-west"]
}

locals {
  group = "rg-migration"
  tags  = { owner = "dba", purpose = "oracle-migration" }
}

resource "dms_oci_driver_check" "probe" {
  count          = length(var.service_names)
  group_name     = local.group
  service_name   = var.service_names[count.index]
  task_name      = format("check-%02d", count.index)
  server_version = "19.0"
  client_data    = local.tags
  delete_running = true
}

resource "dms_oci_driver_upload" "blob" {
  group_name   = local.group
  service_name = var.service_names[0]
  task_name    = "uploadFromBlob"
  driver_share {
    sas_uri = "http://127.0.0.1:10000/devstoreaccount1/drivers?sv=2025-11-05&sig=x"
  }
  depends_on = [dms_oci_driver_check.probe]
  lifecycle {
    prevent_destroy = true
    ignore_changes  = [client_data]
  }
  timeouts {
    create = "1h30m"
    delete = "500ms"
  }
}

output "check_names" {
  value = dms_oci_driver_check.probe[*].task_name
}
