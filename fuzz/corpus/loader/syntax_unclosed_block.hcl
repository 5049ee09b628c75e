resource "dms_oci_driver_check" "before" {
  group_name = "rg"
