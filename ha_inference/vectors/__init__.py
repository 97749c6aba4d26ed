"""OpenSearch Serverless vector search, private and in every AZ."""
