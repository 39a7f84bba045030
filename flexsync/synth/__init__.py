"""The synthetic capture generator: subjects, motion, and (in sibling modules) the streams it renders.

Everything here is deterministic from a ``numpy.random.Generator`` passed in by the caller.
"""
