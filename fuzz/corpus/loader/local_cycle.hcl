locals {
  a = local.c
  b = "${local.a}-x"
  c = upper(local.b)
}
