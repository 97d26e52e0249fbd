# escape=`

FROM mcr.microsoft.com/windows/servercore:ltsc2022
SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop';"]
ENV APP_HOME=C:\app `
    LOG_DIR="C:\logs"
WORKDIR C:\app
COPY app\ C:\app\
RUN New-Item -ItemType Directory -Path $env:LOG_DIR; `
    Write-Host done
CMD c:\app\run.cmd --flag `
  value
