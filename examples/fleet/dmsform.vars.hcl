services = {
  "dms-weu-1" = { group = "migration-weu" }
  "dms-weu-2" = { group = "migration-weu" }
  "dms-neu-1" = { group = "migration-neu" }
}
