"""Lambda handlers shipped with ha-inference; each sub-folder is one function asset."""
