"""Checks over whole apps: Region coverage and the GENREL05-BP01 rule pack."""
