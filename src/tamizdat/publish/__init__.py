"""tamizdat.publish"""
