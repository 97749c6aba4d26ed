"""Self-hosted models: SageMaker endpoints in every AZ behind the runtime load balancer."""
