"""tamizdat.reader"""
