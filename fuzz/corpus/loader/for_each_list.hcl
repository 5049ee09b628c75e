resource "dms_oci_driver_check" "before" {
  for_each     = ["dms-east", "dms-west"]
  group_name   = "rg"
  service_name = each.key
  task_name    = "checkOCIDriver"
}
