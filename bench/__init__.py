"""The benchmark (`make bench`) and the soak run (`make soak`): see bench/__main__.py."""
