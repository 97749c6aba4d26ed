"""Lambda handlers shipped with ha-inference, in one folder that is one function asset.

Every module here runs in the AWS Lambda Python runtime with the standard library, boto3 and
botocore only; a handler imports its siblings as top-level modules (the folder is the function's
code root). Use :func:`ha_inference.handler_code` to package the folder.
"""
