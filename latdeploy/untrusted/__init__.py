"""Reading untrusted input within limits: JSON and YAML documents, HDF5 files' declared
shapes, and names from files on their way to a terminal or an HTML page.

Every reader here refuses a document beyond its limit before it is expanded, recursed
into or read in full, with one line naming the file, the field and the limit.
"""
