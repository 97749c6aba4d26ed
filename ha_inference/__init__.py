"""ha-inference: highly available generative-AI inference constructs (GENREL05-BP01)."""

from ha_inference.regions import DEFAULT_ROUTES, Geography, RoutingTable

__all__ = ["DEFAULT_ROUTES", "Geography", "RoutingTable"]
