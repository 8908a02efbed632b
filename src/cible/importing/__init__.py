"""Importing customer data files into a workspace, losing nothing."""
