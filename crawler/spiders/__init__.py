"""The one generic news spider, driven by the config's [[sites]]."""
