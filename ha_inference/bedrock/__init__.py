"""Amazon Bedrock: inference profiles with exact IAM, and private endpoints in every AZ."""
