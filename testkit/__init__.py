"""Test and measurement tools kept outside the product packages: a local SeaweedFS server and
the fake news web that the tests, the demo and the benchmark all serve."""
