"""Reading untrusted input within limits: JSON and YAML documents from files, and names from
files on their way to a terminal or an HTML page (HDF5 files are checked by
:mod:`latdeploy.frontend.hdf5_file`, where h5py is imported).

Every reader here refuses a document beyond its limit before it is expanded, recursed
into or read in full, with one line naming the file, the field and the limit.
"""
