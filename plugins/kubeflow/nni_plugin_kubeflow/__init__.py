"""nni-core plugin: kubeflow."""
