"""The language side that needs no Rasa: the Italian spaCy pipeline the model is built
on (:mod:`~urp.nlu.spacy_pipeline`) and the NLU training data read as plain examples
(:mod:`~urp.nlu.data`), for the data checks, the trainers' review and the evaluation."""
