"""The specification's example programs, installed with the package: weather, historize,
poll_example, poll_example_many and poll_test (a simulated PowerFlex drive)."""
