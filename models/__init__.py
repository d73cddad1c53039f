"""The model registry: known speech, language and voice models, their files and checksums."""
