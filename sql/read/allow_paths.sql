-- The only files a run connection may read from now on: the run's own ($paths).
set allowed_paths = $paths
