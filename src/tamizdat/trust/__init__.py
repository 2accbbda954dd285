"""tamizdat.trust"""
