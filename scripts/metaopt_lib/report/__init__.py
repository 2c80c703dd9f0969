"""What a person gets from a campaign: the trial table (trials.csv), the reports (final.md and
iteration-N.md) with their charts, and the best configuration as a file and a command."""
