"""Files: the artefact store (fsspec URIs under one root) and atomic local writes."""
