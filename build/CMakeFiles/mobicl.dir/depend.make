# Empty dependencies file for mobicl.
# This may be replaced when dependencies are built.
