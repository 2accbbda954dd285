"""tamizdat.channels"""
