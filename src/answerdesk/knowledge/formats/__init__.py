"""One parser per source format, each turning bytes into sections or FAQ pairs."""
