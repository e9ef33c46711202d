from .providers.reference.protocol import *  # noqa: F403  transitional: the models move to the registry
