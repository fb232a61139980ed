# Empty dependencies file for mobicl_cli.
# This may be replaced when dependencies are built.
