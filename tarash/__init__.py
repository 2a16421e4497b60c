"""tarash: one interface for AI video and image generation."""
