from .providers.reference.client import *  # noqa: F403  transitional: the models move to the registry
