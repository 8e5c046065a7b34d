"""latdeploy's own Lava Processes and their ``fixed_pt`` ProcessModels (Lava's Process / ProcessModel split).

Lava finds a Process's models by scanning the folder of the module that defines
it, so each Process module sits here beside its models module.
"""
