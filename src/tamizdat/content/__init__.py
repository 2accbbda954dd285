"""tamizdat.content"""
