# Code already written against NNI's smart-parameter API: not expanded, but it is part of the
# search space, like NNI's own handwrite.py test case.
import nni

width = nni.choice({'narrow': 8, 'wide': 64}, name='width')
rate = nni.uniform(0.1, 0.9)
kind = nni.function_choice({'one': lambda: 1, 'two': lambda: 2})
