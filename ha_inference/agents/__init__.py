"""Agentic compute in every supported Availability Zone: Amazon Bedrock AgentCore Runtime in VPC
mode (:class:`~ha_inference.agents.runtime.MultiAzAgentRuntime`), what it runs
(:class:`~ha_inference.agents.code.AgentCode`) and the private way to invoke it
(:class:`~ha_inference.agents.invoke_endpoint.AgentRuntimeVpcEndpoint`)."""
