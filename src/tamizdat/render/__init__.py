"""tamizdat.render"""
