file(REMOVE_RECURSE
  "CMakeFiles/mobicl_cli.dir/tools/mobicl.c.o"
  "CMakeFiles/mobicl_cli.dir/tools/mobicl.c.o.d"
  "mobicl"
  "mobicl.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/mobicl_cli.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
