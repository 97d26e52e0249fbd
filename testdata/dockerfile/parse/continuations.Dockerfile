FROM ubuntu:22.04

RUN echo hello\
  world\
  goodnight  \
  moon\
  light\
ning
RUN echo hello  \
  world
RUN echo hello \
goodbye\
frog
RUN echo hello  \  
world
RUN echo hi \
 \
 world \
\
 good\
\
night
RUN apt-get update && \
    # comments inside continuations are skipped
    apt-get install -y \

        curl \
        ca-certificates
ENV A path
ENV B another\\path
ENV C trailing\\backslash\\
ENV D This should not be appended to C
ENV E hello\
\
world
