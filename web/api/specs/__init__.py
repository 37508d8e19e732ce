"""OpenAPI fragments, one YAML file per sub-system, merged by ``web.api.openapi`` at load."""
