# No annotation here: copied byte for byte.
def helper(x):  # a comment the formatter would drop
    return x + 1
