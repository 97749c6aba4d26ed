"""Lambda functions in every AZ, and the handlers shipped with the library."""
