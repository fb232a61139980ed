file(REMOVE_RECURSE
  "libmobicl.a"
)
