"""The retrieval-augmented answer function (asset root: this folder, handler ``index.handler``)."""
